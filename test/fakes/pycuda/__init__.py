"""Stand-in for pycuda (only ``pycuda.driver`` is used)."""
