"""Search spaces: named, versioned ConfigSpaces with fidelities and a vectorised codec."""

from .base import INACTIVE, Fidelity, Space, as_rng
from .catalog import get_space, hia_cnn, list_spaces, nb201_joint, register_space, zela2018

__all__ = ["INACTIVE", "Fidelity", "Space", "as_rng", "get_space", "list_spaces",
           "register_space", "hia_cnn", "zela2018", "nb201_joint"]
