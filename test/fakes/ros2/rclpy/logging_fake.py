class RcutilsLogger:
    """Records (severity, message) pairs; the real one writes to rosout and the console."""

    def __init__(self, name):
        self.name = name
        self.records = []

    def _log(self, severity, message, **kwargs):
        self.records.append((severity, str(message)))
        return True

    def debug(self, message, **kwargs):
        return self._log("DEBUG", message, **kwargs)

    def info(self, message, **kwargs):
        return self._log("INFO", message, **kwargs)

    def warning(self, message, **kwargs):
        return self._log("WARN", message, **kwargs)

    warn = warning

    def error(self, message, **kwargs):
        return self._log("ERROR", message, **kwargs)

    def fatal(self, message, **kwargs):
        return self._log("FATAL", message, **kwargs)
