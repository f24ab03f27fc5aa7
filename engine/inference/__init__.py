"""Using a trained network: prediction for drawings and images, inspection, export."""
