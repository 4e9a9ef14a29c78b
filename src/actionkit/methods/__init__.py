"""The methods: one folder per paper, one line each in ``METHODS`` (name -> ``Method``).

Adding a method = a folder under ``methods/`` + one line here (README, "Adding a method").
"""

from actionkit.methods.alt.method import ALT
from actionkit.methods.base import Method, MethodHeads, MethodModel, TrainingPlan, backbone_of
from actionkit.methods.checkpoint import load_model
from actionkit.methods.claver.method import CLAVER
from actionkit.methods.lss.method import LSS
from actionkit.methods.paxion.fuser import FUSER
from actionkit.methods.paxion.method import PAXION

METHODS: dict[str, Method] = {
    PAXION.name: PAXION,      # PAXION Knowledge Patcher + DVDM
    FUSER.name: FUSER,        # PAXION Knowledge Fuser (on a patched model)
    CLAVER.name: CLAVER,      # CLAVER Kronecker-mask temporal attention + interpretive prompts
    LSS.name: LSS,            # LSS self-distillation in language concept spaces (no labels)
    ALT.name: ALT,            # ALT entity-to-region alignment + entity-queried video adapter
}

__all__ = ["METHODS", "Method", "MethodHeads", "MethodModel", "TrainingPlan", "backbone_of", "load_model"]
