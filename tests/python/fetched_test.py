"""load_fetched (run by fetched_test.sh, after a real `ecluse fetch` of
lu/breast-cancer): the file is read while no open erasure notice names rows
it holds; an open notice is refused naming the notice, the rows and the
commands; after `ecluse fetches erase-rows` of those rows it reads again,
without them. Notices are lines as `ecluse notices --json` prints them."""
import json
import os
import shutil
import subprocess
import unittest

import numpy as np

from ecluse import ErasureNoticeError, load_fetched

ECLUSE = os.environ["ECLUSE"]
FETCHED = os.environ["ECLUSE_FETCHED"]
READ_ID = os.environ["ECLUSE_READ_ID"]
STATE = os.environ["XDG_STATE_HOME"]
NOTICES = os.path.join(STATE, "ecluse", "notices.jsonl")


def notice(state, rows, notice_id="6e6f74696365", dataset="lu/breast-cancer"):
    return {"notice_id": notice_id, "holding_site": "lu", "home_site": "lu",
            "dataset": dataset, "dataset_version": 2, "rows": rows,
            "reads": [{"read_id": READ_ID, "reader": "spiffe://lu/researcher/ana", "rows": rows}],
            "obligation": "delete the rows", "state": state}


def save(notices):
    with open(NOTICES, "w", encoding="utf-8") as f:
        for n in notices:
            f.write(json.dumps(n) + "\n")


class LoadFetched(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The policy's max_rows (400) is what a grant reads: rows 0 to 399.
        cls.source = np.loadtxt(os.environ["ECLUSE_CSV"], delimiter=",", skiprows=1)[:400]

    def tearDown(self):
        if os.path.exists(NOTICES):
            os.remove(NOTICES)

    def test_1_without_a_list_of_notices_it_refuses(self):
        with self.assertRaises(ErasureNoticeError) as caught:
            load_fetched(FETCHED)
        self.assertIn("no erasure notices to check against", str(caught.exception))
        self.assertIn(NOTICES, str(caught.exception))

    def test_2_no_open_notice_reads_every_row(self):
        save([notice("received", [[0, 5]], dataset="lu/other"), notice("deleted", [[0, 5]])])
        t = load_fetched(FETCHED)
        self.assertEqual(t["features"].shape[0], len(self.source))
        np.testing.assert_allclose(t["features"], self.source[:, :-1].astype(np.float32))
        t = load_fetched(FETCHED, notices=[])
        self.assertEqual(t["labels"].shape[0], len(self.source))

    def test_3_an_open_notice_refuses_then_erase_rows_clears_it(self):
        open_one = notice("received", [[3, 5], [600, 700]])
        save([open_one])
        with open(FETCHED, "rb") as f:
            before = f.read()
        with self.assertRaises(ErasureNoticeError) as caught:
            load_fetched(FETCHED)
        msg = str(caught.exception)
        for part in ("rows 3:5 of lu/breast-cancer", "erasure notice 6e6f74696365",
                     "ecluse fetches erase-rows %s --rows 3:5" % READ_ID,
                     "ecluse notices ack 6e6f74696365", os.path.realpath(FETCHED)):
            self.assertIn(part, msg)
        with open(FETCHED, "rb") as f:
            self.assertEqual(f.read(), before)  # refusing changes nothing
        out = subprocess.run([ECLUSE, "fetches", "erase-rows", READ_ID, "--rows", "3:5"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        t = load_fetched(FETCHED)  # the notice is still open, but the rows are gone
        kept = np.delete(self.source, [3, 4], axis=0)
        self.assertEqual(t["features"].shape[0], len(kept))
        np.testing.assert_allclose(t["features"], kept[:, :-1].astype(np.float32))

    def test_4_a_file_changed_since_its_record_is_refused(self):
        save([])
        copy = FETCHED + ".orig"
        shutil.copyfile(FETCHED, copy)
        try:
            with open(FETCHED, "r+b") as f:
                f.seek(-1, os.SEEK_END)
                last = f.read(1)
                f.seek(-1, os.SEEK_END)
                f.write(bytes([last[0] ^ 1]))
            with self.assertRaises(ErasureNoticeError) as caught:
                load_fetched(FETCHED)
            self.assertIn("the file changed since its record", str(caught.exception))
        finally:
            os.replace(copy, FETCHED)

    def test_5_a_file_without_a_record_is_refused(self):
        other = FETCHED + ".copy"
        shutil.copyfile(FETCHED, other)
        try:
            with self.assertRaises(ErasureNoticeError) as caught:
                load_fetched(other, notices=[])
            self.assertIn("no fetch record names this file", str(caught.exception))
        finally:
            os.remove(other)


if __name__ == "__main__":
    unittest.main(verbosity=2)
