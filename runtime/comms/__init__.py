"""Publishers: one :class:`~runtime.comms.base.Communicator` interface, MQTT (+ Home Assistant) and ZeroMQ."""
