"""A PDC from pypmu (PyPI `synchrophasor`, iicsys/pypmu) against `sereplay serve`.

Usage: pypmu_pdc.py HOST PORT N_DATA OUT_JSON
Asks for the header and CFG-2, turns data on, reads N_DATA data frames, turns data off and
writes what pypmu decoded (CFG-2 fields, per data frame SOC, FRACSEC count, phasors, freq,
dfreq, analog values, stat) as JSON.
"""
import collections
import collections.abc
import json
import sys

# pypmu 1.0.0-alpha uses collections.Sequence, removed in Python 3.10.
for _name in ("Sequence", "Mapping", "Iterable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from synchrophasor.frame import ConfigFrame2, DataFrame, HeaderFrame  # noqa: E402
from synchrophasor.pdc import Pdc  # noqa: E402


def main():
    host, port, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    pdc = Pdc(pdc_id=7, pmu_ip=host, pmu_port=port)
    pdc.logger.setLevel("WARNING")
    pdc.run()
    header = pdc.get_header()
    assert isinstance(header, HeaderFrame)
    cfg = pdc.get_config()
    assert isinstance(cfg, ConfigFrame2)
    pdc.start()
    frames, others = [], 0
    while len(frames) < n:
        f = pdc.get()
        if isinstance(f, DataFrame):
            m = f.get_measurements()
            frames.append({
                "soc": f.get_soc(),
                "count": f.get_frasec()[0],
                "measurements": m["measurements"],
            })
        else:
            others += 1
            if others > n:
                break
    pdc.stop()
    pdc.quit()
    result = {
        "cfg2": {
            "idcode": cfg.get_id_code(),
            "station": cfg.get_station_name(),
            "time_base": cfg.get_time_base(),
            "num_pmu": cfg.get_num_pmu(),
            "data_rate": cfg.get_data_rate(),
            "channels": cfg.get_channel_names(),
        },
        "header": header.get_header(),
        "data": frames,
        "not_data": others,
    }
    with open(out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
