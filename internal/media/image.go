package media

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// imageDecoders reads the header of each image format the API takes.
// Inspect has already named the format by its magic bytes, so each decoder is
// called directly: image.DecodeConfig would sniff a second time, through a
// global registry that any blank import (image/gif, say) extends.
//
// image/jpeg reads through the metadata before the frame header (EXIF, XMP)
// rather than skipping it; the read budget caps that at 1 MB.
var imageDecoders = map[string]func(io.Reader) (image.Config, error){
	"jpeg": jpeg.DecodeConfig,
	"png":  png.DecodeConfig,
	"bmp":  bmp.DecodeConfig,
	"tiff": tiff.DecodeConfig,
	"webp": webp.DecodeConfig,
}

// maxDimension bounds what a header may claim: anything beyond int32 is
// corrupt rather than large.
const maxDimension = math.MaxInt32

// inspectImage reads an image's size (and, for PNG, its alpha channel) from
// its header. On error the Info still names the format, so that Check can say
// "file is a PNG image" to a field that takes videos.
func inspectImage(s *source, format string) (Info, error) {
	info := newInfo(format, s.size)
	cfg, err := imageDecoders[format](&headerReader{s: s})
	if err != nil {
		return info, imageError(s, format, err)
	}
	// Only PNG's color model says reliably whether there is an alpha channel:
	// x/image/webp reports every lossless WEBP as NRGBA, and x/image/tiff
	// reports RGB and associated-alpha RGBA alike as RGBA.
	info.Alpha = format == "png" && pngAlpha(cfg.ColorModel)
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 || w > maxDimension || h > maxDimension {
		// A caller comparing a mask's size with a video's must never be
		// handed a meaningless number.
		return info, fmt.Errorf("file is not a valid %s: its header says it is %dx%d px", formats[format].noun, w, h)
	}
	info.Width, info.Height = w, h
	return info, nil
}

// pngAlpha reports whether a PNG's color model, as png.DecodeConfig gives
// it, holds transparency: an alpha channel (color types 4 and 6), or a
// palette with a transparent entry (tRNS). A tRNS color key on a gray or
// truecolor image is not seen: DecodeConfig stops reading before it.
func pngAlpha(m color.Model) bool {
	if m == color.NRGBAModel || m == color.NRGBA64Model {
		return true
	}
	if p, ok := m.(color.Palette); ok {
		for _, c := range p {
			if _, _, _, a := c.RGBA(); a != 0xFFFF {
				return true
			}
		}
	}
	return false
}

// imageError says why a decoder could not read an image's header.
func imageError(s *source, format string, err error) error {
	noun := formats[format].noun
	var re *readError
	switch {
	case errors.As(err, &re):
		return err
	case errors.Is(err, errShort), errors.Is(err, errBudget):
		return s.explain(err, "the "+noun)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The decoder wanted more than the file holds.
		return s.explain(errShort, "the "+noun)
	case unsupportedVariant(err):
		return unreadableVariant(noun, err.Error())
	default:
		return fmt.Errorf("file is not a valid %s (%v)", noun, err)
	}
}

// unsupportedVariant reports whether a decoder refused a feature, rather than
// found the file broken.
func unsupportedVariant(err error) bool {
	var j jpeg.UnsupportedError
	var p png.UnsupportedError
	var t tiff.UnsupportedError
	return errors.As(err, &j) || errors.As(err, &p) || errors.As(err, &t) || errors.Is(err, bmp.ErrUnsupported)
}

// unreadableVariant is the error for a valid image in a variant that the
// decoders do not read (arithmetic-coded JPEG, RLE-compressed BMP, BigTIFF).
// The check cannot vouch for such a file, and re-saving it costs the agent
// one command.
func unreadableVariant(noun, detail string) error {
	return fmt.Errorf("file is a %s in a variant that could not be read (%s); re-save it as a standard PNG or JPG", noun, detail)
}
