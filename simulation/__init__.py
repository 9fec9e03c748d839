"""Finite-N simulator (seeded ensembles of gradient flow / Langevin runs): see the open issues."""
