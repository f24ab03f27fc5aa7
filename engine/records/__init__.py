"""What a run leaves on disk: its folder, records, checkpoints, TensorBoard, CSV."""
