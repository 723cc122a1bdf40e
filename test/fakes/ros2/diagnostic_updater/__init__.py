"""diagnostic_updater stand-in (ROS 2 Python API): Updater(node, period), add(name, fn), setHardwareID."""

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


class DiagnosticStatusWrapper(DiagnosticStatus):
    def summary(self, *args):
        if len(args) == 1:
            self.level, self.message = args[0].level, args[0].message
        else:
            self.level, self.message = args[0], str(args[1])

    def add(self, key, val):
        self.values.append(KeyValue(key=str(key), value=str(val)))


class Updater:
    def __init__(self, node, period=1.0):
        self.node = node
        self.publisher = node.create_publisher(DiagnosticArray, "/diagnostics", 1)
        self.period_parameter = "diagnostic_updater.period"
        self.period = node.declare_parameter(self.period_parameter, period).value
        self.timer = node.create_timer(self.period, self.update)
        self.tasks = []
        self.hwid = ""

    def add(self, *args):
        if len(args) == 1:
            self.tasks.append((args[0].getName(), args[0].run))
        else:
            self.tasks.append((args[0], args[1]))

    def setHardwareID(self, hwid):
        self.hwid = hwid

    def update(self):
        self.force_update()

    def force_update(self):
        statuses = []
        for name, fn in self.tasks:
            status = DiagnosticStatusWrapper()
            status.name, status.hardware_id = name, self.hwid
            status.level, status.message = DiagnosticStatus.ERROR, "No message was set"
            statuses.append(fn(status))
        for status in statuses:
            status.name = f"{self.node.get_name()}: {status.name}"
        self.publisher.publish(DiagnosticArray(status=statuses))
