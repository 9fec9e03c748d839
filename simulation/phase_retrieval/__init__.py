"""Finite-N phase-retrieval samples [P3], [P7]: ``sample`` builds the data and runs one sample;
``_kernels`` holds the fused loss/gradient pass and the steppers (GD, flow, persistent SGD)."""
