"""Documents a facility issues: the usage permit (利用許可書) now, receipts later (issue 16 §3)."""
