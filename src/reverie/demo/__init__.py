"""The synthetic demo practice: a documented generative model and the seeding command."""
