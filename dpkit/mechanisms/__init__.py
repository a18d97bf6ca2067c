"""Differential-privacy mechanisms: each is a pure function plus a privacy statement.

Every mechanism follows the same shape: a frozen, validated ``...Params`` dataclass, a pure
sampling function ``mechanism(params, x, rng)`` and ``params.privacy_event()``, the
:mod:`dpkit.accounting` event that states what one release costs.

Submodules are imported on demand (``from dpkit.mechanisms import additive``) so that
``import dpkit`` stays light; nothing is imported eagerly here.
"""
