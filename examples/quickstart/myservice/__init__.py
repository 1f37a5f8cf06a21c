"""A toy serving package: inference code (model, handlers) beside training code."""
