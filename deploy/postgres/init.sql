-- One database per service (docker compose; the local stack creates them itself).
CREATE DATABASE daiko_orders;
CREATE DATABASE daiko_deposits;
CREATE DATABASE daiko_messaging;
