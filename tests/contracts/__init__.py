"""The contract every public entry point inherits (issue 14 §5).

Arbitrary values of the right Python types give a result or a ``DPKitError``; no input is
mutated; an int seed reproduces; privacy events are sound and strictly JSON-serializable.
"""
