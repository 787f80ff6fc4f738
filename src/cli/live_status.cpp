#include "cli/live_status.hpp"

#include "core/log.hpp"

namespace keepgpu::cli {

class LiveStatusView::Sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit Sink(LiveStatusView& view) : view_(view) {
    set_formatter_(log::make_console_formatter());
    set_level(spdlog::level::warn);  // INFO lines become the status block
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    view_.print_above(fmt::to_string(formatted));
  }
  void flush_() override {}

 private:
  LiveStatusView& view_;
};

LiveStatusView::LiveStatusView(std::FILE* out, Renderer render)
    : out_(out), render_(std::move(render)) {}

LiveStatusView::~LiveStatusView() {
  stop();
}

void LiveStatusView::start() {
  {
    std::lock_guard lock(mutex_);
    active_ = true;
    draw_locked();
  }
  log::set_console_sink(std::make_shared<Sink>(*this));
}

void LiveStatusView::refresh() {
  std::lock_guard lock(mutex_);
  if (!active_) return;
  erase_locked();
  draw_locked();
}

void LiveStatusView::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!active_) return;
    active_ = false;
    drawn_lines_ = 0;  // keep the final block visible above what follows
  }
  log::set_console_sink(nullptr);
}

void LiveStatusView::print_above(const std::string& line) {
  std::lock_guard lock(mutex_);
  erase_locked();
  std::fputs(line.c_str(), out_);
  if (active_) draw_locked();
  std::fflush(out_);
}

void LiveStatusView::erase_locked() {
  if (drawn_lines_ == 0) return;
  // Cursor to the start of the first status line, then clear to the end of the screen.
  std::fprintf(out_, "\x1b[%zuF\x1b[J", drawn_lines_);
  drawn_lines_ = 0;
}

void LiveStatusView::draw_locked() {
  const auto lines = render_();
  for (const auto& line : lines) {
    std::fputs("\x1b[2K", out_);
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
  }
  drawn_lines_ = lines.size();
  std::fflush(out_);
}

}  // namespace keepgpu::cli
