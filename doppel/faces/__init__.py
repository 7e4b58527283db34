"""Face extraction: detect, landmark (478-point mesh mapped to 68 points), pose, align, write faces.

Entry point: `doppel.faces.extract.extract(input, out_dir, ExtractOptions(...))`. Modules, one concept each:
detection (the detector base class), detect (detectors by name), mtcnn (MTCNN in torch), landmarks (FaceAnalyzer: mesh, 68 points, tracking),
mesh68 (the 68-point mapping), pose, align (alignment, face types, realign), smooth (temporal filter),
extract (the streaming loop), debug (drawings), mean_face (rebuilds mean_face.json), cli.
Kept import-light: importing `doppel.faces` loads no model.
"""
