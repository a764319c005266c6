"""The example workflows, shipped so that `lfctl config examples DEST` can copy them."""
