// A compact live status block per GPU for interactive terminals, redrawn in place instead of a
// scrolling log. Warnings and errors still print, above the block.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keepgpu::cli {

class LiveStatusView {
 public:
  using Renderer = std::function<std::vector<std::string>()>;
  LiveStatusView(std::FILE* out, Renderer render);
  ~LiveStatusView();

  // Routes the console log through the view and draws the block.
  void start();
  // Redraws the block with fresh figures.
  void refresh();
  // Leaves the last block on screen and restores the plain console log.
  void stop();

 private:
  class Sink;
  void print_above(const std::string& line);
  void erase_locked();
  void draw_locked();

  std::FILE* out_;
  Renderer render_;
  std::mutex mutex_;
  std::size_t drawn_lines_ = 0;
  bool active_ = false;
};

}  // namespace keepgpu::cli
