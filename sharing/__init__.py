"""Sharing models on the Hugging Face Hub: the model card, push and pull."""
