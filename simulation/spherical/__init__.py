"""Finite-N spiked matrix-tensor samples [S1.2], [S2], [S6]: ``sample`` builds the data and runs
one sample; ``_kernels`` holds the packed-tensor gradient and the time steppers."""
