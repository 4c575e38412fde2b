"""Using word2vec vectors downstream: a transformer classifier over them, and the learning curve of its uses."""
