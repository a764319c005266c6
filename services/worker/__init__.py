"""The worker service: runs task callbacks for its queues in a pool of processes."""
