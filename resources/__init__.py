"""Files shipped with TrainDesk; installed as the package `traindesk_resources`."""
