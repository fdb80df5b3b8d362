# A virtual clock for boards off the ball (the sim board, test boards): time in plain ms
# that moves only when the loop sleeps, so a whole session replays in milliseconds.


class VirtualClock:
    t = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, t, ms):
        return t + ms

    def sleep_ms(self, ms):
        self.t += ms
