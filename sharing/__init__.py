"""Sharing models on the Hugging Face Hub: the model card, push and pull."""

from .hub import HubError, PushResult, check_model_folder, pull_model_folder, push_model_folder
from .model_card import build_model_card, write_model_card

__all__ = [
    "HubError",
    "PushResult",
    "build_model_card",
    "check_model_folder",
    "pull_model_folder",
    "push_model_folder",
    "write_model_card",
]
