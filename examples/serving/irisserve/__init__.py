"""A FastAPI model server for an iris classifier trained by ../train.py."""
