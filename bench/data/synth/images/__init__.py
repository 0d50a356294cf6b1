"""The synth images: a small mannequin renderer and the multi-person rpe scenes.

``primitives`` (ellipsoids and round cones) and ``raster`` (the ray caster) draw; ``figure`` dresses
a posed skeleton as primitives; ``camera`` samples and frames views; ``appearance`` and
``backdrop`` sample clothing, light and backgrounds; ``render`` puts these together into the render
and render-pair images; ``scenes`` stands several figures in one image with a question about one.
"""
