"""Queue-ticket printing: render once, print anywhere.

- `raster.TicketRasterizer` turns a `kiosk.ticket.TicketLayout` into the
  1-bit image that is printed and shown as the on-screen preview
  (`kiosk.ports.TicketRenderer`).
- `escpos_printer.EscposTicketPrinter` prints it on an ESC/POS printer over
  USB, TCP port 9100 or serial (`kiosk.ports.TicketPrinter`).
- `file_printer.FileTicketPrinter` is the simulated printer: PNG, the exact
  ESC/POS bytes, and a PDF per ticket in a folder.
- `raster_decode` reads ESC/POS raster bytes back into images (tests, support).
- `sample` is the fixed printer test page.

Modules are not imported here, so that importing one (say `raster_decode`)
does not pull in Qt or python-escpos.
"""
