class InvalidParameterTypeException(Exception):
    def __init__(self, desired_parameter, expected_type):
        super().__init__(f"Trying to set parameter '{desired_parameter._name}' of type "
                         f"'{desired_parameter.type_}', expected '{expected_type}'")


class InvalidParameterValueException(Exception):
    def __init__(self, parameter, value, reason):
        super().__init__(f"Invalid parameter value ({value}) for parameter. Reason: {reason}")


class ParameterAlreadyDeclaredException(Exception):
    pass


class ParameterNotDeclaredException(Exception):
    pass
