"""Questions to the daemon, answered by the mm-LLM from the logged facts and radar windows.

- :mod:`runtime.questions.timerange`: the time range a question implies ("in the last hour").
- :mod:`runtime.questions.facts`: the events and the window embedding a question is answered from.
- :mod:`runtime.questions.service`: :class:`~runtime.questions.service.QuestionService`, the queue,
  limits and LLM worker threads that every transport (MQTT, ZeroMQ, web, ``mmfm ask``) goes through.
- :mod:`runtime.questions.settings`: the ``questions:`` section of the daemon YAML.

This package imports no LLM: the app loads ``runtime.llm.answer`` only when questions are on.
"""
