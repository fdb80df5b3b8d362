# What the host may read from the running app and ask of it, and nothing else: the USB
# console (and any later transport) holds a Control, never the App. Everything here runs
# between samples; pack_live, called per sample while streaming, allocates nothing.
from ball.session import ACTIVE
from ball.wire import STATE_NAMES
from ball.wire.console import FLAG_CALIB, FLAG_DRIFT_BAD, live_pack_into


class Control:
    def __init__(self, app, config_path="/config.json"):
        self.app = app
        self.config_path = config_path  # where `KB cfg` and "set bands from it" save
        self.clock_offset = None  # unix seconds at app.now == 0, once the host set the clock
        self.measurement = None  # the phone page's last threshold measurement (ball.measure)

    def request_stop(self, reason):
        """End the running session now (the host's symptom key). False: none was running."""
        return self.app.request_stop(reason)

    def calibrate(self, on, now_ms):
        return self.app.calibrate(on, now_ms)

    def buzz(self, now_ms, ms):
        return self.app.buzz(now_ms, ms)

    def reconfigure(self, cfg):
        return self.app.reconfigure(cfg)

    def session_active(self):
        return self.app.session.state == ACTIVE

    def status(self):
        """The session's state and the day's count, for the host's `KB hello`."""
        s = self.app.session
        return {
            "session": STATE_NAMES[s.state],
            "elapsed_ms": s.elapsed_ms,
            "calib": self.app.calib,
            "sessions_today": s.sessions_today,
            "max_sessions_per_day": s.max_per_day,
            # The next contact would get the rest signal (as Session.step decides).
            "rest": s.rest_due(),
            # The body area the next session is for ("none": the whole body's count).
            "area": (self.app.dose.area if self.app.dose is not None else "") or "none",
            # This power-on and the seconds since it: the host dates sessions recorded
            # before the clock was set from their own boot and uptime_s in the log.
            "boot": self.app.boot_id,
            "uptime_s": self.app.uptime_s(),
        }

    def identity(self):
        """Which ball: its board profile's sensor and name, and its stable id."""
        board = self.app.board
        profile = board.profile
        out = {"sensor": profile.get("sensor", "sim"), "board": profile.get("name", "")}
        if "sim_like" in profile:
            out["like"] = profile["sim_like"]  # the real sensor a virtual ball stands for
        out["id"] = board.ball_id()
        return out

    def _new_cues(self, seen):
        """Bits of the cues given since `seen` (the cue counts last reported), which it
        then holds: bit i for CUE_NAMES[i]. Allocation-free."""
        counts = self.app.session.cue_counts
        cues = 0
        i = 0
        while i < 6:
            c = counts[i]
            if c != seen[i]:
                if c > seen[i]:
                    cues |= 1 << i
                seen[i] = c
            i += 1
        return cues

    def pack_live(self, buf, off, now_ms, seen):
        """This sample as an 'L' payload at buf[off] (ball/wire/console.py); `seen` holds
        the cue counts the last one reported, so its cue bits are the cues given since.
        Allocation-free. Returns its size."""
        s = self.app.session
        sig = self.app.signal
        cues = self._new_cues(seen)
        hold = s.hold_ms
        flags = FLAG_CALIB if self.app.calib else 0
        if sig.drift_bad:
            flags |= FLAG_DRIFT_BAD
        return live_pack_into(
            buf,
            off,
            now_ms & 0xFFFFFFFF,
            sig.force_mn,  # the session's force too, and still filtered while calibrating
            s.band,
            s.state,
            s.elapsed_ms,
            hold if hold > 0 else 0,
            cues,
            self.app.fault,
            sig.raw,
            sig.drift_mn,
            flags,
        )

    def pack_event(self, buf, off, now_ms, seen, pack_into):
        """This sample as the live page's event at buf[off], through pack_into
        (ball.wire.events.sample_pack_into, handed in by the page's server so that this
        module does not load it); `seen` as for pack_live. Allocation-free. Returns the
        index after it."""
        s = self.app.session
        cues = self._new_cues(seen)
        hold = s.hold_ms
        return pack_into(
            buf,
            off,
            now_ms,
            self.app.signal.force_mn,
            s.band,
            s.state,
            s.elapsed_ms,
            s.limit_ms,
            hold if hold > 0 else 0,
            cues,
            self.app.fault,
            s.stop_reason,
        )

    def motor_started_ms(self):
        """When the haptic motor last started from off (None: never), for the page's server
        to hold its sends through the motor's start-up current."""
        return self.app.feedback.motor_started_ms

    def page(self):
        """The live page's server (ball.web.Server), or None: not serving (or a station
        still connecting: start.Joining)."""
        web = self.app.web
        return web if web is not None and web.addr is not None else None

    def restart_page(self, wifi_path):
        """The page (re)started from the network stored at wifi_path, after `KB wifi`
        changed it, at boot, or to retry a station that was still connecting; stopped when off.
        The radio's switch (start.RadioSwitch) comes with the first page served."""
        from ball.start import RadioSwitch, serve  # loaded already: it booted the ball

        app = self.app
        if app.web is not None:
            app.web.close()
            app.web = None
        app.web = serve(app.board, self, wifi_path)
        if app.radio is not None:
            app.radio.radio.wake(app.now)  # asked for: on for a while from now
        elif app.web is not None:
            app.radio = RadioSwitch(app.board, self, wifi_path, app.now)
        return app.web

    def limits(self):
        """(band edges in mN, limit_ms, hold_min_ms, hold_max_ms) of the running config."""
        s = self.app.session
        return s.edges, s.limit_ms, s.hold_min_ms, s.hold_max_ms

    def writing(self):
        """The name of the log file being written, or "" (it must not be pulled yet)."""
        log = self.app.log
        if log is not None and log.f is not None:
            return log.path.rsplit("/", 1)[-1]
        return ""

    def set_clock(self, unix, utc_offset_s=0):
        """The host's clock: unix seconds now, and local time's offset from UTC. The app
        owns it; the board's RTC keeps it through resets, the day's count counts local
        calendar days from it, and sessions from now on carry their start time."""
        app = self.app
        self.clock_offset = unix - app.uptime_s()
        if app.log is not None and app.log.unix_time is None:
            app.log.unix_time = self.unix_time
        if app.dose is not None:
            app.dose.set_clock(app.now, unix, utc_offset_s)
            if app.log is not None:
                # Saved now, before the RTC moves: a boot takes the RTC's advance over the
                # saved clock for time that passed, so the clock's jump must be saved first.
                app.log.save_day()
                app.log.service(False)  # the lowest step first: this save
        app.board.set_time(unix)

    def areas(self):
        """The area chosen ("none"), the areas there are, and the day so far per area: {NAME:
        [sessions, seconds]}, "none" for sessions without one."""
        from ball.dose import NO_AREA, areas

        dose = self.app.dose
        today = {} if dose is None else dose.today()
        if "" in today:
            today[NO_AREA] = today.pop("")
        s = self.app.session
        return {
            "area": (dose.area if dose is not None else "") or NO_AREA,
            "areas": areas(self.app.cfg),
            "today": today,
            "left_s": s.left_ms // 1000 if dose is not None and dose.area else None,
            "rest": s.rest_due(),
        }

    def set_area(self, name):
        """Choose the area of the sessions from now on (`none`: no area), the running one's
        too when that area can take it (ball/dose.py). Saved with the day's count. Returns
        (its name, True when the running session moved to it); raises console.Refused
        naming the problem."""
        from ball.console import Refused
        from ball.dose import NO_AREA, area_problem, areas

        dose = self.app.dose
        if dose is None:
            raise Refused("this ball keeps no day's count: areas need one")
        if name != NO_AREA:
            why = area_problem(name)
            if why is None and name not in areas(self.app.cfg):
                why = "is not an area of this ball; add it with `knotball area --add {}`".format(
                    name
                )
            if why:
                raise Refused("area {}: {}".format(name[:24], why))
        log = self.app.log
        move = log is None or log.can_move()
        moved = dose.set_area("" if name == NO_AREA else name, self.app.session, move)
        if log is not None:
            if moved:
                log.moved(dose.area_b, self.app.session.limit_ms)
            log.save_day()  # kept on flash: the ball uses it until another is chosen
        return name, moved

    # The phone page's threshold measurement (ball/measure.py, loaded only when asked): each
    # raises console.Refused for a bad request, measure.Busy for one that must wait.

    def measure_start(self, area, now_ms):
        from ball import measure

        return measure.start(self, area, now_ms)

    def measure_status(self, now_ms):
        """Its state (renewing it while it runs: it lapses 10 s after the page stops asking)."""
        from ball import measure

        return measure.status(self, now_ms)

    def measure_stop(self, now_ms):
        from ball import measure

        return measure.stop(self, now_ms)

    def measure_bands(self):
        """The bands set from the last threshold measured: saved and applied as `KB cfg`."""
        from ball import measure

        return measure.set_bands(self)

    def unix_time(self):
        """Unix seconds, or 0 when no host has set the clock since the app started. From
        the app's uptime, which never goes back (its `now` restarts at 0 every few days)."""
        if self.clock_offset is None:
            return 0
        return self.clock_offset + self.app.uptime_s()
