"""Front door: psychoeducation, fit self-check, therapist directory and consultation requests."""
