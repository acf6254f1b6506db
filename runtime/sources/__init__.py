"""Sources of raw ADC and point-cloud frames (UART, DCA1000, replay) and their byte layouts.

Pure numpy and the standard library: the runtime never imports torch, ``sim`` or ``training``.
"""
