UPDATE users SET email_verified = false;
