/* Writes cmyk.jpg for image_test.cpp: a 16x8 four-component (CMYK) JPEG, left half red and
 * right half blue, with Adobe's inverted CMYK convention (what Photoshop writes and what
 * OpenCV's decoder assumes). Built once by hand, not by the project:
 *   cc make_cmyk_jpeg.c -ljpeg -o /tmp/make_cmyk_jpeg && /tmp/make_cmyk_jpeg > cmyk.jpg
 */
#include <stdio.h>
#include <jpeglib.h>

int main(void) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, stdout);
  c.image_width = 16;
  c.image_height = 8;
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_colorspace(&c, JCS_CMYK); /* also writes the Adobe APP14 marker */
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  unsigned char row[16 * 4];
  for (int x = 0; x < 16; ++x) {
    /* inverted ink amounts: 255 = no ink. red = M+Y, blue = C+M, no black */
    unsigned char red[4] = {255, 0, 0, 255}, blue[4] = {0, 0, 255, 255};
    for (int k = 0; k < 4; ++k) row[x * 4 + k] = x < 8 ? red[k] : blue[k];
  }
  while (c.next_scanline < c.image_height) {
    JSAMPROW rows[1] = {row};
    jpeg_write_scanlines(&c, rows, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return 0;
}
