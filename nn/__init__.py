"""Neural networks on autodiff Values: neurons, layers, MLPs, losses, optimizers, JSON state."""
