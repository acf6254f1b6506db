"""Test doubles that behave like the hardware (fake radar on a pty, fake DCA1000 on loopback UDP)."""
