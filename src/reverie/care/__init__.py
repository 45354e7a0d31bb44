"""The clinical record: clients, treatment episodes, sessions and notes."""
