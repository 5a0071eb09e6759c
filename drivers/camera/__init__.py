"""Camera backends and QR decoding.

- `opencv_camera.OpenCvCamera`: a real USB/V4L2 camera (OpenCV, lazily imported);
- `simulated.SimulatedCamera`: images, video or generated QR scenes;
- `decoder.ZxingQrDecoder` (and an OpenCV fallback): frames to QR text;
- `scanner.QrScanner`: a worker that feeds new payloads to the application.

What a payload means is decided in the core (`kiosk.qr.parse_qr`).
"""
