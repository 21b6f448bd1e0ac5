"""The Python module's Client refuses a key.pem others can read (run by
keyperm_test.sh), naming the file and its mode, and leaves it as it was."""
import os
import unittest

from ecluse import Client


class KeyFileMode(unittest.TestCase):
    def setUp(self):
        self.dir = os.environ["ECLUSE_RESEARCHER"]
        self.key = os.path.join(self.dir, "key.pem")

    def tearDown(self):
        os.chmod(self.key, 0o600)

    def test_a_key_at_0600_is_used(self):
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600)
        Client(self.dir).close()

    def test_a_key_others_can_read_is_refused(self):
        for mode in (0o644, 0o640, 0o604):
            os.chmod(self.key, mode)
            with open(self.key, "rb") as f:
                before = f.read()
            with self.assertRaises(PermissionError) as caught:
                Client(self.dir)
            msg = str(caught.exception)
            self.assertIn(self.key, msg)
            self.assertIn("(mode %04o)" % mode, msg)
            self.assertIn("chmod 600", msg)
            st = os.stat(self.key)
            self.assertEqual(st.st_mode & 0o777, mode)
            with open(self.key, "rb") as f:
                self.assertEqual(f.read(), before)


if __name__ == "__main__":
    unittest.main()
