"""The model folder: what it holds, how it is written (crash-safe, refused where it is not ours), its card."""
