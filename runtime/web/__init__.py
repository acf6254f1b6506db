"""The live web view (optional extra ``mmfm[web]``): see :mod:`runtime.web.server`."""
