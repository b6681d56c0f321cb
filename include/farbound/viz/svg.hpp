#pragma once
// SvgDocument: SVG pictures written as plain text, for plots and 2-D pictures: rectangles,
// circles, paths (line plots, contours), text, embedded PNG rasters, and clipped groups.
// Coordinates are SVG user units (pixels), y downwards. Numbers are written with
// std::to_chars to 7 significant digits (locale-independent; 1e-3 px up to 16384 px) and
// text is XML-escaped.
//
//   SvgDocument svg(640, 480);
//   svg.path(SvgPath().move_to(10, 400).line_to(100, 300).line_to(200, 310), {.stroke = "#1f77b4", .stroke_width = 2});
//   svg.text(320, 20, "robust accuracy", {.size = 14, .anchor = "middle"});
//   svg.write("plot.svg");
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "farbound/core/error.hpp"
#include "farbound/viz/detail/write_file.hpp"

namespace farbound {

namespace detail {

// v to 7 significant digits, printf's %g form ("0.25", "123.4568", "1e-07").
inline std::string svg_number(double v) {
  if (!std::isfinite(v)) throw argument_error("SvgDocument: coordinate or size is not finite");
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 7);
  return std::string(buf, r.ptr);
}

// Text with the five XML special characters escaped.
inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  return out;
}

// RFC 4648 base64, for data: URIs.
inline std::string base64(std::span<const std::uint8_t> bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = std::uint32_t(bytes[i]) << 16;
    if (n > 1) v |= std::uint32_t(bytes[i + 1]) << 8;
    if (n > 2) v |= bytes[i + 2];
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? alphabet[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

}  // namespace detail

// Paint of a shape; colours in any SVG form ("#1f77b4", "none", "black").
struct SvgStyle {
  // Fill colour.
  std::string fill = "none";
  // Stroke colour.
  std::string stroke = "none";
  // Stroke width.
  double stroke_width = 1;
  // Opacity.
  double opacity = 1;
};

// Font size, anchor, colour and weight of an SVG text.
struct SvgTextStyle {
  // Font size.
  double size = 12;
  std::string anchor = "start";  // start, middle, end
  // Text colour.
  std::string fill = "black";
  // Font weight.
  std::string weight = "normal";
};

// Path data built from commands, e.g. a polyline or many separate segments.
class SvgPath {
 public:
  // Starts a subpath at (x, y).
  SvgPath& move_to(double x, double y) { return add('M', x, y); }
  // A straight line to (x, y).
  SvgPath& line_to(double x, double y) { return add('L', x, y); }
  // Closes the subpath.
  SvgPath& close() {
    d_ += d_.empty() ? "Z" : " Z";
    return *this;
  }
  // The path's d attribute.
  const std::string& data() const { return d_; }
  // Whether no command was added.
  bool empty() const { return d_.empty(); }

 private:
  SvgPath& add(char command, double x, double y) {
    if (!d_.empty()) d_ += ' ';
    d_ += command + detail::svg_number(x) + ' ' + detail::svg_number(y);
    return *this;
  }
  std::string d_;
};

// An SVG document built in memory, written atomically by write().
class SvgDocument {
 public:
  // A document of width x height user units.
  SvgDocument(double width, double height) : width_(width), height_(height) {
    if (!(width > 0 && height > 0) || !std::isfinite(width) || !std::isfinite(height))
      throw argument_error("SvgDocument: size " + std::to_string(width) + " x " + std::to_string(height) + " must be positive");
  }

  // Width in user units.
  double width() const { return width_; }
  // Height in user units.
  double height() const { return height_; }

  // A rectangle with its top-left corner at (x, y).
  SvgDocument& rect(double x, double y, double w, double h, const SvgStyle& style) {
    body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) + "\"" +
             paint(style) + "/>\n";
    return *this;
  }
  // A circle of radius r centred at (cx, cy).
  SvgDocument& circle(double cx, double cy, double r, const SvgStyle& style) {
    body_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\"" + paint(style) + "/>\n";
    return *this;
  }
  // A line from (x1, y1) to (x2, y2).
  SvgDocument& line(double x1, double y1, double x2, double y2, const SvgStyle& style) {
    body_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) + "\"" +
             paint(style) + "/>\n";
    return *this;
  }
  // The path p.
  SvgDocument& path(const SvgPath& p, const SvgStyle& style) {
    if (p.empty()) return *this;
    body_ += "<path d=\"" + p.data() + "\"" + paint(style) + " stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n";
    return *this;
  }
  // Text s anchored at (x, y), XML-escaped.
  SvgDocument& text(double x, double y, std::string_view s, const SvgTextStyle& style = {}) {
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-family=\"sans-serif\" font-size=\"" + num(style.size) +
             "\" text-anchor=\"" + detail::xml_escape(style.anchor) + "\" fill=\"" + detail::xml_escape(style.fill) +
             "\" font-weight=\"" + detail::xml_escape(style.weight) + "\">" + detail::xml_escape(s) + "</text>\n";
    return *this;
  }
  // A PNG file's bytes stretched over the box (x, y, w, h), embedded as a data: URI (the
  // file stands alone). Viewers smooth it when scaling up.
  SvgDocument& image_png(double x, double y, double w, double h, std::span<const std::uint8_t> png) {
    body_ += "<image x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
             "\" preserveAspectRatio=\"none\" href=\"data:image/png;base64," +
             detail::base64(png) + "\"/>\n";
    return *this;
  }
  // Everything until the matching end_group() is clipped to the box (x, y, w, h).
  SvgDocument& begin_clip(double x, double y, double w, double h) {
    const std::string id = "clip" + std::to_string(clips_++);
    body_ += "<clipPath id=\"" + id + "\"><rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) +
             "\" height=\"" + num(h) + "\"/></clipPath>\n<g clip-path=\"url(#" + id + ")\">\n";
    ++open_groups_;
    return *this;
  }
  // Closes the group begin_clip opened.
  SvgDocument& end_group() {
    if (open_groups_ == 0) throw argument_error("SvgDocument: end_group without an open group");
    body_ += "</g>\n";
    --open_groups_;
    return *this;
  }

  // The whole document; every group must be closed.
  std::string str() const {
    if (open_groups_ != 0) throw argument_error("SvgDocument: " + std::to_string(open_groups_) + " group(s) left open");
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width_) +
           "\" height=\"" + num(height_) + "\" viewBox=\"0 0 " + num(width_) + " " + num(height_) + "\">\n" + body_ +
           "</svg>\n";
  }
  // Writes the document to `path` atomically.
  void write(const std::filesystem::path& path) const {
    const std::string s = str();
    detail::write_file_atomically(path, s);
  }

 private:
  static std::string num(double v) { return detail::svg_number(v); }
  static std::string paint(const SvgStyle& s) {
    std::string out = " fill=\"" + detail::xml_escape(s.fill) + "\" stroke=\"" + detail::xml_escape(s.stroke) + "\"";
    if (s.stroke != "none") out += " stroke-width=\"" + num(s.stroke_width) + "\"";
    if (s.opacity != 1) out += " opacity=\"" + num(s.opacity) + "\"";
    return out;
  }

  double width_, height_;
  std::string body_;
  int clips_ = 0, open_groups_ = 0;
};

}  // namespace farbound
