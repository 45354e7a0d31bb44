"""The vault: envelope encryption of everything a client or therapist writes.

Each client has a random data key; the practice keys (``REVERIE_ENCRYPTION_KEYS``) only
wrap those data keys. Text is stored as a versioned token naming the data key that
sealed it, so destroying one client's key (crypto-shredding) makes exactly that client's
text unreadable. Models declare such columns with
:class:`reverie.vault.fields.EncryptedTextField`; :mod:`reverie.vault.envelope` holds the
functions (seal, unseal, destroy, rewrap). See SECURITY.md for the threat model.
"""
