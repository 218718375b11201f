// A clock for relative times ("Up 5 minutes"): it ticks every second while some time on screen
// is counted in seconds, and every 10 s otherwise (an error of 10 s on a count of minutes).
// Given a pulse (the 1 Hz stats samples), second ticks ride on it, so the new times and the new
// sparkline points are drawn in one frame a second instead of two; a timer covers a silent pulse.
import { useEffect, useState } from 'react';

export type Pulse = (listener: () => void) => () => void;

export function useNow(seconds: boolean, pulse?: Pulse): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const tick = () => setNow(Date.now());
    const timer = setTimeout(tick, !seconds ? 10_000 : pulse ? 2000 : 1000);
    const off = seconds ? pulse?.(() => Date.now() - now >= 900 && tick()) : undefined;
    return () => {
      clearTimeout(timer);
      off?.();
    };
  }, [seconds, pulse, now]);
  return now;
}
