"""Networks: architectures, pretrained weights, bare-weights matching, summaries."""
