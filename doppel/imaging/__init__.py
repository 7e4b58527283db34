"""Pure image functions on arrays: colour transfer, masks, blending, sharpening, degrading, warping."""
