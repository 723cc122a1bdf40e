from enum import IntEnum


class QoSPolicyKind(IntEnum):
    DURABILITY = 1
    HISTORY = 3
    DEPTH = 4
    RELIABILITY = 8


class QoSOverridingOptions:
    def __init__(self, policy_kinds, *, callback=None, entity_id=None):
        self.policy_kinds = list(policy_kinds)
        self.callback = callback
        self.entity_id = entity_id

    @classmethod
    def with_default_policies(cls, *, callback=None, entity_id=None):
        return cls([QoSPolicyKind.HISTORY, QoSPolicyKind.DEPTH, QoSPolicyKind.RELIABILITY],
                   callback=callback, entity_id=entity_id)
