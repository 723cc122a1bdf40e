class Time:
    def __init__(self, *, seconds=0, nanoseconds=0, clock_type=None):
        self._nanoseconds = int(seconds * 1_000_000_000) + int(nanoseconds)

    @property
    def nanoseconds(self):
        return self._nanoseconds

    def seconds_nanoseconds(self):
        return divmod(self._nanoseconds, 1_000_000_000)
